# syntax=docker/dockerfile:1
# The nightly TrainModel step as an ECS Fargate task (lib/training-task.ts builds this image; the build context is the
# project root, filtered by .dockerignore). One esbuild bundle of src/retraining/train-task.ts, the flags of the
# Lambda bundles (lib/node-function.ts), so the task runs the code the tests ran. The final image holds the bundle
# and Node only: no node_modules, no dev dependencies, no sources.

FROM node:22-bookworm-slim AS build
WORKDIR /build
COPY package.json package-lock.json ./
# --ignore-scripts: nothing the bundle needs builds at install time (esbuild ships its binary in a platform package).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npx esbuild src/retraining/train-task.ts \
      --bundle --platform=node --target=node22 --format=esm --minify --sourcemap \
      --main-fields=module,main \
      "--banner:js=import { createRequire as __createRequire } from 'module'; const require = __createRequire(import.meta.url);" \
      --outfile=/out/train-task.mjs

FROM node:22-bookworm-slim
ENV NODE_ENV=production \
    NODE_OPTIONS=--enable-source-maps \
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
WORKDIR /app
COPY --from=build /out/ ./
# The image's unprivileged user (uid 1000); the bundle is read-only to it.
USER node
# Exit code: 0 trained, 2 bad request or data, 75 transient, 1 other (src/retraining/train-task.ts EXIT).
ENTRYPOINT ["node", "/app/train-task.mjs"]
