import { sveltekit } from "@sveltejs/kit/vite";
import { defineConfig } from "vite";

export default defineConfig({
  plugins: [sveltekit()],
  server: {
    host: "127.0.0.1",
    port: 5173,
    // Transform pages up front so the first visit to each route is not a cold compile.
    warmup: { clientFiles: ["./src/routes/**/*.svelte"], ssrFiles: ["./src/routes/**/*.svelte", "./src/routes/**/*.ts"] },
  },
  preview: { host: "127.0.0.1" },
});
