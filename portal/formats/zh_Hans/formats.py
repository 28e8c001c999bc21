"""Django's zh_Hans formats, with the month and day written as on the pages: 3月5日, not
03月5日."""

MONTH_DAY_FORMAT = "n月j日"
