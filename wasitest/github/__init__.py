"""Publishing results to GitHub: workflow commands (step summary, outputs, annotations)
for the Action's steps, and a check run and pull-request comment through the REST API."""
