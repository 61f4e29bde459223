{% test expect_column_quantile_values_to_be_between(model, column_name, quantile, min_value=none, max_value=none, group_by=none, row_condition=none, strictly=false) %}
    {{ expectation_aggregate_between(
        model, quantiles(column_name, quantile),
        min_value, max_value,
        group_by=group_by, row_condition=row_condition, strictly=strictly,
    ) }}
{% endtest %}
