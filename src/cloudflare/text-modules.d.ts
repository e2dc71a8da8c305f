// wrangler bundles an imported .txt file as a text module (its default module rules); cf:build
// copies the build's HTML pages the Worker needs under that extension (Astro's types give .html
// imports another meaning).
declare module '*.txt' {
  const text: string;
  export default text;
}
