# The image of every bus process: workers (`celery -A bus worker`), Flower, and the `bus` CLI.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, so editing the code does not reinstall them. README.md* tolerates a
# checkout without the README (pyproject names it as the long description).
COPY pyproject.toml README.md* ./
COPY bus ./bus
COPY config ./config
COPY workers ./workers
# Flower comes with bus (a dependency): the image runs it too.
RUN pip install . \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin bus \
    && mkdir -p /credentials /root-key \
    && chown bus:bus /credentials /root-key \
    && chmod 700 /credentials /root-key
# /credentials and /root-key are mount points of named volumes: a new volume takes this
# ownership, so the auth-setup service (user bus) can write the credentials into it.

# Celery refuses nothing as root but warns; nothing here needs root.
USER bus

CMD ["celery", "-A", "bus", "worker", "--loglevel=INFO"]
