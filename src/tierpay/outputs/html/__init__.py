"""HTML for people to look at: the month's run as one page, and pay slips to print.

``month`` and ``slips`` gather what a page shows as plain values, ``charts`` draws inline SVG,
and ``pages`` lays them out through the Jinja2 templates in ``templates/`` (the ``html`` extra).
"""
