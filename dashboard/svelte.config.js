import adapter from "@sveltejs/adapter-cloudflare";
import { vitePreprocess } from "@sveltejs/vite-plugin-svelte";

/** @type {import('@sveltejs/kit').Config} */
const config = {
  preprocess: vitePreprocess(),
  kit: {
    // Read dashboard/wrangler.toml only: the repo root's wrangler.toml is the API worker.
    adapter: adapter({ config: "wrangler.toml" }),
  },
};

export default config;
