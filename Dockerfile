FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=escort_portal.settings.production

RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext curl postgresql-client \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
# The build steps, one per line (the production smoke test runs these same lines). Build-time
# values only: the real ones come from the environment at run time.
RUN SECRET_KEY=build ALLOWED_HOSTS=build DATABASE_URL=postgres://build@build/build python manage.py compilemessages --ignore=.venv
RUN SECRET_KEY=build ALLOWED_HOSTS=build DATABASE_URL=postgres://build@build/build python manage.py collectstatic --noinput

# Never as root: the portal's own user owns only the uploaded files.
RUN useradd --system --no-create-home --home-dir /app portal \
    && mkdir -p /app/media && chown portal /app/media
USER portal
EXPOSE 8000
# Each worker is replaced after 5,000 requests (+ up to 500, so two never restart together):
# whatever a worker kept grows no further (README, A whole state).
CMD ["gunicorn", "escort_portal.wsgi", "--bind", "0.0.0.0:8000", "--workers", "2", "--max-requests", "5000", "--max-requests-jitter", "500"]
