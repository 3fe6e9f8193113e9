"""Events near me: /events and cards (browse), /newevent (wizard), the organiser's tools
and the review of proposals (manage)."""
