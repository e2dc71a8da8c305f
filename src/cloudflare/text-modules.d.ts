// wrangler bundles an imported .html file as a text module (its default module rules).
declare module '*.html' {
  const text: string;
  export default text;
}
