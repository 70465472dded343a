# Production image: one image for web, worker and beat.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN useradd --system --home /app shop && mkdir -p /app/var/media /app/staticfiles && chown -R shop /app/var /app/staticfiles
USER shop
EXPOSE 8000
# Threaded workers: a slow provider holds one thread, not a worker (ashtech_store/gunicorn_conf.py).
CMD ["gunicorn", "-c", "python:ashtech_store.gunicorn_conf", "ashtech_store.wsgi"]
