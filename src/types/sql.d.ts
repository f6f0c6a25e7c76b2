// Migrations are plain .sql files, imported as text (esbuild's text loader in the build,
// test/sql-loader.mjs under the test runner).
declare module '*.sql' {
  const text: string;
  export default text;
}
