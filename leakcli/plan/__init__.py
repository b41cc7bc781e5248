"""Floor 5, `plan`: pure. Contracts checked against each other, templates rendered and bound, the DAG
ordered, the data checked, and what apply will do with each model decided; a saved plan read and
written. It reads files and the published build and writes nothing but the plan it is asked to save."""
