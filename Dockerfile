# The ContactPoint service image (API and indexer share it).
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock
COPY pyproject.toml README.md ./
COPY contactpoint ./contactpoint
COPY db ./db
COPY feeds ./feeds
COPY indexer ./indexer
COPY lifecycle ./lifecycle
COPY mappings ./mappings
COPY matching ./matching
COPY notify ./notify
COPY searchapi ./searchapi
RUN pip install --no-cache-dir --no-deps . && useradd --system --no-create-home contactpoint
USER contactpoint
EXPOSE 8000
CMD ["contactpoint", "serve", "--host", "0.0.0.0", "--port", "8000"]
