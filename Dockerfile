# Castflow API and worker image. The SPA (frontend/) is built in its own stage once it exists.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY backend ./backend
COPY flows ./flows
COPY nodes ./nodes
RUN pip install --no-cache-dir .
ENV CASTFLOW_VAR=/app/var
EXPOSE 8000
CMD ["castflow", "serve", "--host", "0.0.0.0", "--port", "8000"]
