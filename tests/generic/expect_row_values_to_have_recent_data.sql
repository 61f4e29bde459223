{#- Fails with one row when the newest value of the column is older than
    `interval` `datepart`s before now (UTC). -#}
{% test expect_row_values_to_have_recent_data(model, column_name, datepart, interval, row_condition=none) %}
    {{ expectation_aggregate_failures(
        model,
        'max(cast(' ~ column_name ~ ' as timestamp))',
        'measured_value >= ' ~ utc_now() ~ ' - interval ' ~ interval ~ ' ' ~ datepart,
        row_condition=row_condition,
    ) }}
{% endtest %}
