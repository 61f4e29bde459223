{% macro whole_days_between(start_timestamp, end_timestamp) %}
    {#-
        Elapsed time in whole days, rounded down: 23:50 to 00:10 the next day
        is 0 days. DuckDB's date_diff('day', ...) counts calendar-day
        boundaries instead (1 there), which is not what the features mean.
    -#}
    cast(
        floor(
            date_diff('microsecond', {{ start_timestamp }}, {{ end_timestamp }})
            / 86400000000
        ) as bigint
    )
{% endmacro %}
