# syntax=docker/dockerfile:1
# Build stage: build a wheel of the operator (no build tools reach the final image).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY operator ./operator
RUN pip install --no-cache-dir --upgrade pip build \
 && python -m build --wheel --outdir /wheels . \
 && pip wheel --no-cache-dir --wheel-dir /wheels /wheels/deployreq-*.whl

# Final stage: the wheels only, a non-root user, no shell tools beyond the base.
FROM python:3.11-slim
RUN groupadd --system --gid 65532 deployreq \
 && useradd --system --uid 65532 --gid 65532 --no-create-home --shell /usr/sbin/nologin deployreq
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels deployreq \
 && rm -rf /wheels /root/.cache
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
USER 65532:65532
EXPOSE 8080
HEALTHCHECK NONE
ENTRYPOINT ["deployreq", "run"]
