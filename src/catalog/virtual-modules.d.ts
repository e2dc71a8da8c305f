// The modules the course catalogue integration (integration.ts) provides to pages.
declare module 'virtual:course-build' {
  /** True in `astro build`, whose paid lesson pages go to the private bundle; false in `astro dev`. */
  export const building: boolean;
}
