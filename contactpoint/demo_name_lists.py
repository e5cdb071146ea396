"""Hand-made name lists the Faker locales lack, most frequent first where the order matters.

Recent names follow the ONS baby-name tables for England and Wales (2015-2023), less the names
the South Asian lists carry (Muhammad tops the ONS table through those families). The other
lists give families of Irish, Welsh, South Asian, Chinese and continental European origin in
England the names, diacritics and apostrophes they really carry.
"""

from __future__ import annotations

# fmt: off
RECENT_MALE = (
    "Oliver", "Noah", "George", "Arthur", "Leo", "Harry", "Oscar", "Jack",
    "Charlie", "Jacob", "Freddie", "Alfie", "Theo", "Henry", "Thomas", "Archie", "Joshua",
    "William", "James", "Theodore", "Lucas", "Isaac", "Finley", "Tommy", "Max", "Ethan",
    "Teddy", "Reuben", "Edward", "Alexander", "Samuel", "Joseph", "Logan", "Mason", "Daniel",
    "Arlo", "Albie", "Hunter", "Elijah", "Jaxon", "Rory", "Ezra", "Louie", "Sebastian",
    "Dylan", "Adam", "Harrison", "Riley", "Benjamin", "Ronnie", "Jude", "Toby", "Finn",
    "Harley", "Luca", "Ralph", "Hugo", "Roman", "Ollie", "Bobby", "Frankie", "Albert",
    "Lewis", "Liam", "Jenson", "Kai", "Zachary", "Aaron",
    "Elliot", "Caleb", "Grayson", "Jesse", "Stanley", "Brody", "Carter", "Matthew",
)

RECENT_FEMALE = (
    "Olivia", "Amelia", "Isla", "Ava", "Lily", "Freya", "Ivy", "Florence", "Mia", "Willow",
    "Rosie", "Sophia", "Isabella", "Grace", "Daisy", "Sienna", "Poppy", "Elsie", "Emily",
    "Ella", "Evelyn", "Phoebe", "Sofia", "Evie", "Charlotte", "Harper", "Millie", "Matilda",
    "Maya", "Sophie", "Alice", "Emilia", "Isabelle", "Ruby", "Luna", "Maisie", "Aria",
    "Penelope", "Mila", "Bonnie", "Eva", "Hallie", "Eliza", "Ada", "Violet", "Esme",
    "Arabella", "Imogen", "Jessica", "Delilah", "Chloe", "Layla", "Harriet", "Thea", "Zara",
    "Lucy", "Ellie", "Scarlett", "Hannah", "Erin", "Orla", "Zoe", "Lola",
    "Nancy", "Robyn", "Holly", "Molly", "Lottie", "Mary", "Anne", "Rose", "Mae",
)

# Weight as a fraction of all British family names (Faker's en_GB weights sum to the total).
BRITISH_EXTRA_FAMILY = {
    "O'Reilly": 0.0012,
    "O'Donoghue": 0.0004,
    "O'Hara": 0.0006,
    "O'Mahony": 0.0003,
    "D'Arcy": 0.0003,
    "D'Souza": 0.0005,
    "MacDonald": 0.0015,
    "McDonald": 0.0020,
    "McKenzie": 0.0010,
    "Campbell": 0.0030,
    "Ferguson": 0.0012,
    "Ffrench": 0.0001,
    "ap Rhys": 0.0001,
}

DOUBLE_BARRELLED = (
    "Bowes Lyon",
    "Lloyd Webber",
    "Vaughan Williams",
    "Baden Powell",
    "Heath Stubbs",
    "Lane Fox",
    "Vane Tempest",
    "Bonham Carter",
    "Rees Mogg",
    "Spencer Churchill",
)

IRISH_MALE = (
    "Seán", "Conor", "Ciarán", "Oisín", "Darragh", "Cillian", "Eoin", "Fionn", "Pádraig",
    "Séamus", "Tadhg", "Rónán", "Cian", "Liam", "Niall", "Dónal", "Caoimhín", "Diarmuid",
)
IRISH_FEMALE = (
    "Niamh", "Aoife", "Siobhán", "Saoirse", "Caoimhe", "Róisín", "Sinéad", "Ciara",
    "Clodagh", "Orlaith", "Áine", "Éabha", "Méabh", "Máire", "Bríd", "Gráinne", "Orla",
)
IRISH_FAMILY = (
    "Murphy", "Kelly", "O'Sullivan", "Walsh", "O'Brien", "Byrne", "Ryan", "O'Connor",
    "O'Neill", "O'Reilly", "Doyle", "McCarthy", "Gallagher", "O'Doherty", "Kennedy",
    "Lynch", "Murray", "Quinn", "Moore", "McLoughlin", "O'Carroll", "Connolly", "Daly",
    "O'Connell", "McGrath", "Brennan",
)

WELSH_MALE = (
    "Rhys", "Dafydd", "Gethin", "Osian", "Iestyn", "Llŷr", "Emrys", "Aled", "Gruffydd",
    "Tomos", "Elis", "Ifan", "Cai", "Steffan", "Hywel", "Dewi",
)
WELSH_FEMALE = (
    "Seren", "Ffion", "Cerys", "Siân", "Rhiannon", "Carys", "Nia", "Bethan", "Eluned",
    "Angharad", "Gwenllïan", "Mali", "Elin", "Lowri", "Catrin", "Non",
)
WELSH_FAMILY = (
    "Jones", "Williams", "Davies", "Evans", "Thomas", "Roberts", "Hughes", "Lewis",
    "Morgan", "Griffiths", "Pritchard", "Llewellyn", "Vaughan", "Prys", "Rhys", "ap Siôn",
    "Powell", "Bowen", "Pugh", "Price",
)

SOUTH_ASIAN_MALE = (
    "Muhammad", "Mohammed", "Ibrahim", "Yusuf", "Ali", "Ahmed", "Hamza", "Zain", "Ayaan",
    "Aarav", "Arjun", "Rayyan", "Adam", "Omar", "Hassan", "Hussain", "Abdullah", "Ismail",
    "Zakariya", "Musa", "Harjot", "Gurpreet", "Rohan", "Vihaan", "Krish", "Dev", "Imran",
    "Tariq", "Faisal", "Shahid", "Rahul", "Sanjay", "Rajesh", "Amir", "Bilal", "Usman",
    "Arham", "Idris", "Ishaan",
)
SOUTH_ASIAN_FEMALE = (
    "Maryam", "Aisha", "Fatima", "Zainab", "Hafsa", "Khadija", "Inaaya", "Anaya", "Amira",
    "Hania", "Zara", "Sana", "Ayesha", "Noor", "Aleena", "Priya", "Riya", "Simran",
    "Jasleen", "Harleen", "Navneet", "Anjali", "Kavya", "Saanvi", "Nadia", "Samina",
    "Shazia", "Farah", "Nasreen", "Rukhsana", "Parveen", "Asma",
)
SOUTH_ASIAN_FAMILY = (
    "Khan", "Hussain", "Ahmed", "Ali", "Patel", "Shah", "Iqbal", "Mahmood", "Rahman",
    "Akhtar", "Malik", "Chowdhury", "Islam", "Uddin", "Miah", "Singh", "Sharma", "Kumar",
    "Mistry", "Rashid", "Aslam", "Butt", "Sheikh", "Qureshi", "Bhatti", "Mirza", "Kapoor",
    "Gill", "Sandhu", "Dhillon", "Sidhu", "Parmar", "Joshi", "Desai", "D'Souza", "D'Costa",
    "Fernandes",
)

ACCENTED_MALE = (
    "José", "Andrés", "Jesús", "Mátyás", "Björn", "Jürgen", "Søren", "François", "Jérôme",
    "Hélio", "João", "Étienne", "Noël", "Raúl", "Tomás",
)
ACCENTED_FEMALE = (
    "Zoë", "Chloé", "Léa", "Inès", "Noémie", "Renée", "Sofía", "María", "Lucía", "Chiara",
    "Anaïs", "Maëlle", "Hélène", "Agnès", "Begoña",
)
ACCENTED_FAMILY = (
    "Müller", "Nuñez", "Núñez", "García", "González", "Pérez", "Sánchez", "Gómez",
    "Schröder", "Lefèvre", "Böhm", "Martínez", "Jiménez", "Simões", "Gonçalves",
)

CHINESE_MALE = ("Wei", "Jun", "Hao", "Yi", "Jian", "Ming", "Chen", "Kai", "Ethan", "Ryan")
CHINESE_FEMALE = ("Mei", "Ling", "Yan", "Xin", "Hui", "Jing", "Li", "Chloe", "Grace", "Emily")
CHINESE_FAMILY = (
    "Wang", "Li", "Zhang", "Chen", "Liu", "Wong", "Chan", "Lee", "Cheung", "Lam", "Ng",
    "Ho", "Yang", "Huang", "Zhao", "Wu", "Tang", "Lau",
)
# fmt: on
