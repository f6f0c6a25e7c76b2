# X2Go::Server::DB as x2go-sessiondb provides it.
#
# The functions of x2goserver 4.1.0.3's module, with its names, arguments and return values,
# for the Perl programs that use it directly (x2golistsessions, x2golistmounts, x2gomountdirs,
# x2goumount-session, x2golistshadowsessions, x2gocleansessions, x2golistsessions_root ...).
# Each runs x2go-sessiondb's wrapper-compatible CLI through its setgid launcher, which reads the
# configured backend (SQLite or PostgreSQL) itself. `x2go-sessiondb install` puts this file in
# place of the reference's (dpkg-divert); `x2go-sessiondb uninstall` puts the reference's back.
#
# Unlike the reference's SQLite path, an error of ours is not merged into the output (where it
# would be read as a session row): it goes to stderr, and the calls that the reference made die
# on failure still die.

package X2Go::Server::DB;

use strict;
use warnings;

# Loaded here because the reference's module loads them, and its callers depend on that:
# X2Go::Server::Agent loads its agent module in a loop over $_, and X2Go::Log, loaded there
# first, reads x2goserver.conf into $_ and so overwrites the module's name.
use Sys::Syslog qw( :standard :macros );
use X2Go::Config qw( get_sqlconfig );
use X2Go::Log qw( loglevel );
setlogmask( LOG_UPTO(loglevel()) );

use base 'Exporter';

our @EXPORT = (
	'db_listsessions', 'db_listsessions_all', 'db_getservers', 'db_getagent', 'db_resume', 'db_changestatus',
	'db_getstatus', 'db_getdisplays', 'db_insertsession', 'db_insertshadowsession', 'db_getports', 'db_insertport',
	'db_rmport', 'db_createsession', 'db_createshadowsession', 'db_insertmount', 'db_getmounts', 'db_deletemount',
	'db_getdisplay', 'dbsys_getmounts', 'dbsys_listsessionsroot', 'dbsys_listsessionsroot_all',
	'dbsys_rmsessionsroot', 'dbsys_deletemounts', 'db_listshadowsessions', 'db_listshadowsessions_all',
);

# Filled in by the installer: the launcher, under the name of the multi-call CLI.
my $x2godb = '@X2GODB@';

# Runs one command of the CLI without a shell; returns its stdout and whether it succeeded.
sub x2godb
{
	open(my $out, '-|', $x2godb, @_) or die "cannot run $x2godb: $!\n";
	local $/;
	my $text = <$out>;
	close($out);
	return (defined($text) ? $text : '', $? == 0);
}

sub output { my ($text) = x2godb(@_); return $text; }
sub output_lines { return split("\n", output(@_)); }

# The reference dies when these fail; x2gostartagent relies on it.
sub change_or_die
{
	my ($text, $ok) = x2godb(@_);
	die "$_[0] failed: $x2godb @_\n" if (!$ok || $text ne 'ok');
	return 1;
}

# The reference ignores the outcome of these.
sub change { my ($text, $ok) = x2godb(@_); return $ok && $text eq 'ok' ? 1 : 0; }

sub db_listsessions { my $server = shift or die "argument \"server\" missed"; return output_lines('listsessions', $server); }
sub db_listsessions_all { return output_lines('listsessions_all'); }
sub db_listshadowsessions { my $server = shift or die "argument \"server\" missed"; return output_lines('listshadowsessions', $server); }
sub db_listshadowsessions_all { return output_lines('listshadowsessions_all'); }
sub dbsys_listsessionsroot { my $server = shift or die "argument \"server\" missed"; return output_lines('listsessionsroot', $server); }
sub dbsys_listsessionsroot_all { return output_lines('listsessionsroot_all'); }
sub db_getservers { return output_lines('getservers'); }
sub db_getdisplays { my $server = shift or die "argument \"server\" missed"; return output_lines('getdisplays', $server); }
sub db_getports { my $server = shift or die "argument \"server\" missed"; return output_lines('getports', $server); }

sub db_getmounts { my $sid = shift or die "argument \"session_id\" missed"; return output_lines('getmounts', $sid); }
sub dbsys_getmounts { my $sid = shift or die "argument \"session_id\" missed"; return output_lines('getmounts', $sid); }
sub db_getagent { my $sid = shift or die "argument \"session_id\" missed"; return output('getagent', $sid); }
sub db_getdisplay { my $sid = shift or die "argument \"session_id\" missed"; return output('getdisplay', $sid); }
sub db_getstatus { my $sid = shift or die "argument \"session_id\" missed"; return output('getstatus', $sid); }

sub db_insertsession
{
	my $display = shift or die "argument \"display\" missed";
	my $server = shift or die "argument \"server\" missed";
	my $sid = shift or die "argument \"session_id\" missed";
	return change_or_die('insertsession', $display, $server, $sid);
}

sub db_insertshadowsession
{
	my $display = shift or die "argument \"display\" missed";
	my $server = shift or die "argument \"server\" missed";
	my $sid = shift or die "argument \"session_id\" missed";
	my $shadreq_user = shift or die "argument \"shadreq_user\" missed";
	return change_or_die('insertshadowsession', $display, $server, $sid, $shadreq_user);
}

sub db_createsession
{
	my @names = ('session_id', 'cookie', 'pid', 'client', 'gr_port', 'snd_port', 'fs_port', 'tekictrl_port', 'tekidata_port');
	my @args;
	for my $name (@names) { my $value = shift or die "argument \"$name\" missed"; push(@args, $value); }
	return change_or_die('createsession', @args);
}

sub db_createshadowsession
{
	my @names = ('session_id', 'cookie', 'pid', 'client', 'gr_port', 'snd_port', 'fs_port', 'shadreq_user');
	my @args;
	for my $name (@names) { my $value = shift or die "argument \"$name\" missed"; push(@args, $value); }
	return change_or_die('createshadowsession', @args);
}

sub db_insertport
{
	my $server = shift or die "argument \"server\" missed";
	my $sid = shift or die "argument \"session_id\" missed";
	my $port = shift or die "argument \"port\" missed";
	return change_or_die('insertport', $server, $sid, $port);
}

sub db_rmport
{
	my $server = shift or die "argument \"server\" missed";
	my $sid = shift or die "argument \"session_id\" missed";
	my $port = shift or die "argument \"port\" missed";
	return change('rmport', $server, $sid, $port);
}

sub db_resume
{
	my @names = ('client', 'session_id', 'gr_port', 'snd_port', 'fs_port', 'tekictrl_port', 'tekidata_port');
	my @args;
	for my $name (@names) { my $value = shift or die "argument \"$name\" missed"; push(@args, $value); }
	return change('resume', @args);
}

sub db_changestatus
{
	my $status = shift or die "argument \"status\" missed";
	my $sid = shift or die "argument \"session_id\" missed";
	return change('changestatus', $status, $sid);
}

sub db_insertmount
{
	my $sid = shift or die "argument \"session_id\" missed";
	my $path = shift or die "argument \"path\" missed";
	my $client = shift or die "argument \"client\" missed";
	return change('insertmount', $sid, $path, $client);
}

sub db_deletemount
{
	my $sid = shift or die "argument \"session_id\" missed";
	my $path = shift or die "argument \"path\" missed";
	return change('deletemount', $sid, $path);
}

sub dbsys_deletemounts
{
	my $sid = shift or die "argument \"session_id\" missed";
	return change('deletemounts', $sid);
}

# As the reference: the mounts first, then the session with its ports.
sub dbsys_rmsessionsroot
{
	my $sid = shift or die "argument \"session_id\" missed";
	dbsys_deletemounts($sid);
	return change('rmsessionsroot', $sid);
}

1;
