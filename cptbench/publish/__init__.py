"""What readers see: reports, comparisons, leaderboards, submissions, the regression gate."""
