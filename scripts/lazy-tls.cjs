// Stands in for node:tls inside postgres.js, which loads it at start-up but uses it only to
// wrap a connection in TLS. Loading it costs every PostgreSQL helper call about 2.5 ms, wasted
// when the server speaks plain TCP; this loads it on first use instead.
let tls;
module.exports = {
  connect: (...args) => {
    tls ??= require('node:tls');
    return tls.connect(...args);
  },
};
