/**
 * drizzle-kit config for the control plane's MySQL schema.
 * Generate: `npx drizzle-kit generate --config drizzle.config.ts` then
 * `npx tsx control-plane/db/make-idempotent.ts` (see control-plane/README.md).
 */
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "mysql",
  schema: "./control-plane/db/schema.ts",
  out: "./control-plane/drizzle",
  dbCredentials: { url: process.env.OLELO_DB_URL ?? "mysql://root@127.0.0.1:3306/olelo" },
});
