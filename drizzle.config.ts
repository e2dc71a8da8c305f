import { defineConfig } from 'drizzle-kit';

// Only used to generate SQL migrations (`npx drizzle-kit generate`); they are applied by
// `npm run db:migrate`, never by drizzle-kit push.
export default defineConfig({
  dialect: 'sqlite',
  schema: './src/server/db/schema.ts',
  out: './migrations',
});
