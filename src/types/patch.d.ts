// contrib/*.patch files are imported as text (esbuild's text loader in the build,
// test/support/sql-loader.mjs under the test runner), so the installed tool carries the patch.
declare module '*.patch' {
  const text: string;
  export default text;
}
