"""Face engine, template protection, the match index, enrollments and templates."""
