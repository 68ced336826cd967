-- One database per service (each service owns its own; none reads another's).
CREATE DATABASE wafa_customer;
CREATE DATABASE wafa_loyalty;
CREATE DATABASE wafa_survey;
CREATE DATABASE wafa_analytics;
CREATE DATABASE wafa_touch_scheduler;
