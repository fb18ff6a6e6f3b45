"""What people read: tables, statements, explanations, comparisons, fairness screens and case reports."""
