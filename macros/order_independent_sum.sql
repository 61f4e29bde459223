{% macro order_independent_sum(expression) %}
    {#-
        Sum of a DOUBLE expression that does not depend on row order.
        Floating-point addition is not associative, and DuckDB aggregates in
        parallel, so a plain sum() can differ in its last bits from one run
        to the next. Summing exactly in DECIMAL (amounts are in cents; six
        decimals keep imputed half-cents and more) makes two runs on the same
        data give byte-identical features.
    -#}
    cast(sum(cast({{ expression }} as decimal(38, 6))) as double)
{% endmacro %}
