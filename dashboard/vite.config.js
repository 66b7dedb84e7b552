// Builds the dashboard into hub/dashboard/, which remora-hub compiles in
// (hub/src/dashboard.rs). Fixed file names: the hub's routes name them.
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  resolve: {
    alias: { react: 'preact/compat', 'react-dom': 'preact/compat' },
  },
  build: {
    outDir: '../hub/dashboard',
    emptyOutDir: true,
    target: 'es2020',
    cssCodeSplit: false,
    modulePreload: false,
    reportCompressedSize: false,
    // CodeMirror and the examples' sources are most of it; it is served once, from memory.
    chunkSizeWarningLimit: 1024,
    rollupOptions: {
      output: {
        entryFileNames: 'assets/app.js',
        assetFileNames: 'assets/app[extname]',
        inlineDynamicImports: true,
      },
    },
  },
  // `npm run dev` against a hub on the default API port.
  server: { proxy: { '/api': 'http://127.0.0.1:8899' } },
});
