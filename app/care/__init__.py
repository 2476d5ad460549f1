"""The clinical loop: referral to hospital, assessment, return-to-school decision, follow-up."""
