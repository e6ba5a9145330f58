# Production-like image: the Loa service with ffmpeg and eSpeak NG, running as a non-root user.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY broadcast broadcast
COPY tts tts
COPY stations stations
COPY playlists playlists
COPY api api
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg espeak-ng curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 loa
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER loa
WORKDIR /home/loa
ENV LOA_ENV=production \
    LOA_MEDIA_DIR=/home/loa/media \
    PYTHONUNBUFFERED=1
VOLUME ["/home/loa/media"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8000/healthz || exit 1
CMD ["loa", "serve", "--host", "0.0.0.0", "--port", "8000"]
