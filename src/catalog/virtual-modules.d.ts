// The modules the course catalogue integration (integration.ts) provides to pages.
declare module 'virtual:course-build' {
  /** True in `astro build`, which renders paid lessons for the private bundle; false in `astro dev`. */
  export const paidLessonPages: boolean;
}
