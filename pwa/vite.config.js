import { defineConfig } from "vite";
import { VitePWA } from "vite-plugin-pwa";

export default defineConfig({
  build: { outDir: "dist", emptyOutDir: true },
  server: { proxy: { "/api": "http://127.0.0.1:5000", "/socket.io": { target: "ws://127.0.0.1:5000", ws: true } } },
  plugins: [
    VitePWA({
      registerType: "autoUpdate",
      injectRegister: "script",
      manifest: {
        name: "邻里 · 居家养老服务",
        short_name: "邻里",
        lang: "zh-CN",
        start_url: "/",
        display: "standalone",
        background_color: "#fffdf7",
        theme_color: "#b3261e",
        icons: [{ src: "/icon.svg", sizes: "any", type: "image/svg+xml", purpose: "any maskable" }],
      },
      workbox: { navigateFallbackDenylist: [/^\/api\//, /^\/socket\.io\//], globPatterns: ["**/*.{js,css,html,svg}"] },
    }),
  ],
});
