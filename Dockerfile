FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY index ./index
COPY service ./service
COPY prompts ./prompts
COPY seeds ./seeds
# torch's CPU build is pinned in constraints.txt as a local wheel; here the plain pin applies.
RUN sed '/^torch==/d' constraints.txt > /tmp/constraints.txt \
 && pip install --no-cache-dir -c /tmp/constraints.txt .
ENV NEWSDESK_DATA_DIR=/data HAYSTACK_TELEMETRY_ENABLED=False HF_HUB_OFFLINE=1
VOLUME /data
CMD ["sh", "-c", "newsdesk ingest seeds && newsdesk search"]
