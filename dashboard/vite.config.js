import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The bridge serves the build under /dashboard/, so every asset URL carries
// that prefix. AGENTIDP_API lets `npm run dev` proxy API calls to a bridge.
const api = process.env.AGENTIDP_API || 'http://127.0.0.1:8080';

export default defineConfig({
  base: '/dashboard/',
  plugins: [react()],
  build: { outDir: 'dist', sourcemap: false },
  server: {
    proxy: {
      '/api': api,
      '/health': api,
      '/metrics': api,
      '/.well-known': api,
    },
  },
  test: {
    include: ['src/**/*.test.js'],
    environment: 'node',
  },
});
