from django.apps import AppConfig


class ColumnBenchConfig(AppConfig):
    name = "benchmarks.scale.column"
    label = "scale_column"
