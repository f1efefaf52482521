# syntax=docker/dockerfile:1
# tunebook's OpenAI-compatible server (lib/serve) with the bundled tiny model, on CPU.
#
#   docker build -t tunebook-serve .
#   docker run --rm -p 127.0.0.1:8080:8080 tunebook-serve
#   curl http://127.0.0.1:8080/v1/models
#
# Arguments after the image name go to `deno task serve`, e.g. your own model and adapter:
#   docker run --rm -p 127.0.0.1:8080:8080 -v "$PWD/results/models:/models:ro" tunebook-serve \
#     --model /models/m-q4_k_m.gguf --adapter arith=/models/arith-lora.gguf
# An API key: -e TUNEBOOK_API_KEY=secret. Logs are JSON lines on stderr (`docker logs`).
ARG DENO_VERSION=2.9.6
FROM denoland/deno:debian-${DENO_VERSION}

WORKDIR /app
RUN chown deno:deno /app
USER deno

# npm packages first, as their own cached layer: pinned by deno.json + deno.lock. node-llama-cpp
# brings prebuilt CPU binaries (@node-llama-cpp/linux-x64 or linux-arm64), so nothing compiles.
COPY --chown=deno:deno deno.json deno.lock ./
RUN deno install --frozen

COPY --chown=deno:deno lib/ ./lib/
COPY --chown=deno:deno data/models/tiny/tiny-f32.gguf ./data/models/tiny/tiny-f32.gguf
COPY --chown=deno:deno data/models/tiny-256/tiny-256-f32.gguf data/models/tiny-256/chat-lora.gguf ./data/models/tiny-256/
# Type-check and compile the server's modules at build time, not at every start.
RUN deno cache --frozen lib/cli/serve.ts

# Inside the container the server listens on every interface; publish the port on the host's
# loopback (as above and in compose.yaml) unless you mean to expose it.
ENV TUNEBOOK_API_KEY=""
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["deno", "eval", "const r = await fetch('http://127.0.0.1:8080/health'); Deno.exit(r.ok ? 0 : 1)"]
ENTRYPOINT ["deno", "run", "--allow-read", "--allow-write=.cache", "--allow-env", "--allow-net", "--allow-ffi", "--allow-sys", "--allow-run", "--unstable-no-legacy-abort", "--v8-flags=--max-semi-space-size=1", "lib/cli/serve.ts", "--host", "0.0.0.0", "--port", "8080", "--cpu"]
CMD []
