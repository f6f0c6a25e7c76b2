// The dashboard's page, script and style sheet, bundled by scripts/build.mjs (esbuild, from
// src/service/observe/web/) and put into the service's bundle as one constant, so that the
// service serves them itself from memory (no CDN, no files to install beside it). JSON of
// { html, js, css }.
declare const __X2GO_WEB_ASSETS__: string | undefined;
