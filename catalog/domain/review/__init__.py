"""Human review (pure): tasks and answers, tenant rules, Dawid–Skene consensus, reviewer ratings, and human
verdicts merged over machine labels."""
