{% macro exact_sum(expression) %}
    {#-
        Sum of a DOUBLE expression, exactly, as DECIMAL(38, 6): amounts are
        in cents, and six decimals keep imputed half-cents and more.
        Floating-point addition is not associative and DuckDB aggregates in
        parallel, so a plain sum() could differ in its last bits from one run
        to the next, or between totals added up batch by batch and the same
        totals taken at once. Exact sums make both byte-identical.
    -#}
    sum(cast({{ expression }} as decimal(38, 6)))
{% endmacro %}
