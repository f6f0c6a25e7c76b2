// The SQLSTATE codes we tell apart, named once: every comparison with a driver error's code uses
// these names. See PostgreSQL's "Appendix A. PostgreSQL Error Codes"; X2P01 is ours.

export const SQLSTATE = {
  /** Class 08: connection exceptions (a prefix, not a code). */
  connectionExceptionClass: '08',
  invalidParameterValue: '22023',
  invalidTextRepresentation: '22P02',
  foreignKeyViolation: '23503',
  readOnlySqlTransaction: '25006',
  /** The server ended a session left idle in its transaction (idle_in_transaction_session_timeout). */
  idleInTransactionTimeout: '25P03',
  uniqueViolation: '23505',
  checkViolation: '23514',
  invalidAuthorizationSpecification: '28000',
  invalidPassword: '28P01',
  dependentObjectsStillExist: '2BP01',
  invalidCatalogName: '3D000',
  insufficientPrivilege: '42501',
  undefinedColumn: '42703',
  undefinedObject: '42704',
  undefinedTable: '42P01',
  adminShutdown: '57P01',
  crashShutdown: '57P02',
  cannotConnectNow: '57P03',
  /** Ours: raised by migration 0003's trigger when a session would hold more than 16 ports. */
  tooManyPorts: 'X2P01',
} as const;

/** The SQLSTATE of a driver error, or '' when it carries none. */
export function sqlStateOf(err: unknown): string {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : '';
}
