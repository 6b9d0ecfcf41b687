# syntax=docker/dockerfile:1
# One image per service, from one Dockerfile:
#   docker build --build-arg APP=ingest -t event-pipeline/ingest .
# APP is one of: api-gateway ingest aggregator ml-trainer ml-predictor batch-processor.
# The build stage bundles the app with esbuild (scripts/build.mjs); node_modules stay external,
# so the runtime stage installs production dependencies only and copies just dist/apps/$APP.

ARG NODE_IMAGE=node:24-slim

FROM ${NODE_IMAGE} AS build
ARG APP
RUN test -n "$APP" || { echo 'missing --build-arg APP=<api-gateway|ingest|aggregator|ml-trainer|ml-predictor|batch-processor>' >&2; exit 1; }
WORKDIR /app
# Manifests first so the dependency layer is cached until the lockfile changes.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json tsconfig.json nx.json ./
COPY scripts ./scripts
COPY proto ./proto
COPY libs ./libs
COPY apps ./apps
RUN node scripts/build.mjs "$APP"
RUN test -f "dist/apps/$APP/main.js" || { echo "build produced no dist/apps/$APP/main.js (is APP a real app?)" >&2; exit 1; }

FROM ${NODE_IMAGE} AS runtime
ARG APP
ENV NODE_ENV=production \
    APP=${APP} \
    NODE_OPTIONS=--enable-source-maps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
# main.js plus any *.worker.js (worker_threads load them by path beside main.js) and source maps.
COPY --from=build /app/dist/apps/${APP} ./dist/apps/${APP}
COPY deploy/docker/healthcheck.cjs ./healthcheck.cjs
# Writable state lives under /var/lib/pipeline (ml-trainer's MODEL_CACHE_DIR=/var/lib/pipeline/models).
# Created here, owned by node, so a named volume mounted there inherits that ownership.
RUN mkdir -p /var/lib/pipeline/models && chown -R node:node /var/lib/pipeline
# The official node images ship an unprivileged "node" user (uid 1000).
USER node
# node:24-slim has no curl: probe /healthz with node itself. HTTP_PORT falls back to the app's default port.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 CMD ["node", "healthcheck.cjs"]
# `exec` replaces the shell, so node is PID 1 and receives SIGTERM directly (graceful shutdown).
# A shell is needed to expand $APP; with `docker run --init` / compose `init: true`, tini sits above it.
CMD ["/bin/sh", "-c", "exec node \"dist/apps/$APP/main.js\""]
