# syntax=docker/dockerfile:1
# The shiftbench CLI as an image, for the scale recipes (examples/kubernetes, examples/slurm).
# No Docker engine runs where shiftbench is developed: build it elsewhere, from the repository root:
#   docker build -t shiftbench:0.1.0 .
#   docker run --rm shiftbench:0.1.0                      # prints the CLI's help
#   docker run --rm -v "$PWD/reports:/work/reports" shiftbench:0.1.0 demo --limit 20   # the demo writes ./reports
# Both stages use the same base (Debian, glibc, one CPU architecture): sharp's prebuilt libvips
# (@img/sharp-linux-*) and onnxruntime-node's bundled CPU binaries installed in the first stage
# are the ones the second stage runs. Build on (or for, with --platform) the cluster's architecture.
ARG NODE_IMAGE=node:20-slim

# 1. build: every dependency, dev ones included (TypeScript), compiles src/ to dist/ and packs
#    exactly the files the published package holds (package.json "files"); then drops dev dependencies
FROM ${NODE_IMAGE} AS build
WORKDIR /src
# onnxruntime-node ships its CPU binaries in the package; its install script would download CUDA
# libraries from outside the npm registry (see .npmrc). Install scripts are not needed: sharp's
# binaries come as optional npm packages.
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json .npmrc tsconfig.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY src/ src/
COPY scripts/ scripts/
COPY models/ models/
COPY docs/ docs/
COPY examples/ examples/
COPY datasets/README.md datasets/README.md
COPY reports/README.md reports/README.md
COPY README.md LICENSE ./
RUN npm run build \
  && npm pack --ignore-scripts --pack-destination /tmp \
  && mkdir /app \
  && tar -xzf /tmp/shiftbench-*.tgz -C /app --strip-components=1 \
  && npm prune --omit=dev --ignore-scripts --no-audit --no-fund \
  && mv node_modules /app/node_modules

# 2. run: node:20-slim with the packed CLI and its production dependencies only
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/ /app/
# `shiftbench` on PATH (package.json "bin"); a writable model cache for `shiftbench models pull`
RUN chmod 755 /app/dist/cli/index.js \
  && ln -s /app/dist/cli/index.js /usr/local/bin/shiftbench \
  && mkdir -p /app/models/.cache /work && chown node:node /app/models/.cache /work
USER node
WORKDIR /work
ENTRYPOINT ["shiftbench"]
CMD ["--help"]
