import { gzipSync } from "node:zlib";
import { defineConfig } from "vite";
import { VitePWA } from "vite-plugin-pwa";

const BUDGET_KB = 150;

/** Print the app's JavaScript gzipped (everything the first screen loads) and fail over budget. */
function bundleSize() {
  return {
    name: "linli-bundle-size",
    apply: "build",
    generateBundle(_, bundle) {
      let total = 0;
      for (const file of Object.values(bundle)) {
        if (file.type === "chunk") total += gzipSync(file.code, { level: 9 }).length;
      }
      const kb = total / 1024;
      console.log(`\nsenior bundle JavaScript: ${kb.toFixed(1)} KB gzipped (budget ${BUDGET_KB} KB)`);
      if (kb > BUDGET_KB) this.error(`the app's JavaScript is ${kb.toFixed(1)} KB gzipped, over the ${BUDGET_KB} KB budget`);
    },
  };
}

export default defineConfig({
  build: { outDir: "dist", emptyOutDir: true, target: "es2020" },
  server: { proxy: { "/api": "http://127.0.0.1:5000", "/socket.io": { target: "ws://127.0.0.1:5000", ws: true } } },
  plugins: [
    bundleSize(),
    VitePWA({
      registerType: "autoUpdate",
      injectRegister: "script",
      includeAssets: ["icon.svg", "apple-touch-icon.png", "push-sw.js"],
      manifest: {
        id: "/",
        name: "邻里 · 居家养老服务",
        short_name: "邻里",
        description: "助餐 助洁 助行 助浴 助医，一键紧急求助",
        lang: "zh-CN",
        start_url: "/",
        scope: "/",
        display: "standalone",
        orientation: "portrait",
        background_color: "#fffdf7",
        theme_color: "#b3261e",
        icons: [
          { src: "/icon-192.png", sizes: "192x192", type: "image/png", purpose: "any" },
          { src: "/icon-512.png", sizes: "512x512", type: "image/png", purpose: "any" },
          { src: "/icon-maskable-512.png", sizes: "512x512", type: "image/png", purpose: "maskable" },
        ],
      },
      workbox: {
        navigateFallback: "/index.html",
        navigateFallbackDenylist: [/^\/api\//, /^\/socket\.io\//, /^\/healthz/],
        globPatterns: ["**/*.{js,css,html,svg,png,webmanifest}"],
        importScripts: ["/push-sw.js"],
        cleanupOutdatedCaches: true,
      },
    }),
  ],
});
