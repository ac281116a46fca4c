# The hub's image: the API by default; `puente worker` for webhook delivery.
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /srv/puente

COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
RUN pip install . && useradd --system --uid 10001 puente && mkdir var && chown puente var

USER puente
ENV PUENTE_ENVIRONMENT=production PUENTE_LOG_JSON=true
EXPOSE 8000
HEALTHCHECK CMD python -c "import httpx; httpx.get('http://127.0.0.1:8000/livez').raise_for_status()"
# Migrate, then serve; in production run `puente db upgrade` as a release step instead.
CMD ["sh", "-c", "puente db upgrade && puente serve --host 0.0.0.0 --port 8000"]
