"""COCO caption goldens: what pycocoevalcap computes for a hand-written caption test set.

Writes:
- test/fixtures/coco/captions_test.json: COCO annotation format, 66 images x 5 reference captions,
  written in the style of COCO captions and deliberately varied (punctuation, numbers,
  contractions, possessives, hyphens, capitals, stray whitespace, non-ASCII, $ & / @).
- test/fixtures/coco/results_test.json: a COCO results file, one candidate per image, of mixed
  quality (near copies, paraphrases with synonyms and other word forms, partly right, wrong,
  very short, very long, repeated words).
- test/fixtures/goldens/coco/metrics.json: pycocoevalcap's COCOEvalCap on them, run the way
  evaluate() runs it (COCO(), loadRes(), PTBTokenizer on gts and res, then Bleu(4), Meteor(),
  Rouge(), Cider()) with SPICE left out (it needs Stanford model downloads). Holds the image ids in
  the order pycocoevalcap iterates them, the PTB-tokenised references and candidates, corpus
  scores and per-image scores (BLEU as BleuScorer returns them: four lists, one per order).
- test/fixtures/goldens/coco/ptb-probes.json: 300 tricky single captions through pycocoevalcap's
  PTBTokenizer (Stanford CoreNLP 3.4.1 PTBTokenizer -preserveLines -lowerCase, then removal of
  the PUNCTUATIONS list), each probe its own image id: once as one batch ("tokens": the tokenizer
  looks past a caption's end into the next one) and once with a neutral caption after each
  probe ("alone").

Deterministic: no randomness, no absolute paths in the outputs.
"""
from __future__ import annotations

from pathlib import Path

from pycocoevalcap.bleu.bleu_scorer import BleuScorer
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.meteor.meteor import Meteor
from pycocoevalcap.rouge.rouge import Rouge
from pycocoevalcap.tokenizer.ptbtokenizer import PUNCTUATIONS, PTBTokenizer
from pycocotools.coco import COCO

from common import FIXTURES, write_json

COCO_DIR = FIXTURES / "coco"
OUT_DIR = FIXTURES / "goldens" / "coco"

# (image id, file name, width, height, five references, candidate)
SCENES: list[tuple[int, str, int, int, list[str], str]] = [
    (391895, "COCO_test_000000391895.jpg", 640, 360, [
        "A man with a red helmet on a small moped on a dirt road.",
        "Man riding a motor bike on a dirt road on the countryside.",
        "A man riding on the back of a motorcycle.",
        "A dirt path with a young person on a motor bike rests to the foreground of a verdant area with a bridge and a background of cloud-wreathed mountains. ",
        "A man in a red shirt and a red hat is on a motorcycle on a hill side.",
    ], "A man riding a motorcycle down a dirt road."),
    (522418, "COCO_test_000000522418.jpg", 640, 480, [
        "A woman wearing a net on her head cutting a cake. ",
        "A woman cutting a large white sheet cake.",
        "A woman wearing a hair net cutting a large sheet cake.",
        "there is a woman that is cutting a white cake",
        "A woman marking a cake with the back of a chef's knife. ",
    ], "a woman is cutting a cake with a knife"),
    (184613, "COCO_test_000000184613.jpg", 500, 336, [
        "A child holding a flowered umbrella and petting a yak.",
        "A young man holding an umbrella next to a herd of cattle.",
        "a young boy barefoot holding an umbrella touching the horn of a cow",
        "A young boy with an umbrella who is touching the horn of a cow.",
        "A boy holding an umbrella while standing next to livestock.",
    ], "Kids holding umbrellas while standing next to cows."),
    (318219, "COCO_test_000000318219.jpg", 640, 556, [
        "A young boy standing in front of a computer keyboard.",
        "a little boy wearing headphones and looking at a computer monitor",
        "He is listening intently to the computer at school.",
        "A young boy stares up at the computer monitor.",
        "a young kid with head phones on using a computer ",
    ], "A child looks at a computer screen while wearing head-phones."),
    (554625, "COCO_test_000000554625.jpg", 640, 427, [
        "a boy wearing headphones using one computer in a long row of computers",
        "A little boy with earphones on listening to something.",
        "A group of people sitting at desk using computers.",
        "Children sitting at computer stations on a long table.",
        "A small child wearing headphones plays on the computer.",
    ], "a boy is playing a video game"),
    (397133, "COCO_test_000000397133.jpg", 640, 427, [
        "A man is in a kitchen making pizzas.",
        "Man in apron standing on front of oven with pans and bakeware",
        "A baker is working in the kitchen rolling dough.",
        "A person standing by a stove in a kitchen.",
        "A table with pies being made and a person standing near a wall with pots and pans hanging on the wall.",
    ], "A chef prepares pizzas in a restaurant's kitchen."),
    (37777, "COCO_test_000000037777.jpg", 352, 230, [
        "The dining table near the kitchen has a bowl of fruit on it.",
        "A small kitchen has various appliances and a table.",
        "The kitchen is clean and ready for us to see.",
        "A kitchen and dining area decorated in white.",
        "A kitchen that has a bowl of fruit on the table.",
    ], "kitchen kitchen kitchen kitchen kitchen kitchen"),
    (252219, "COCO_test_000000252219.jpg", 640, 428, [
        "A person on a skateboard and bike at a red light.",
        "A man on a skateboard next to a woman on a bicycle, waiting at an intersection.",
        "Two people -- one on a skateboard, one on a bike -- wait to cross the street.",
        "A man and a woman at a crosswalk; he's on a skateboard, she's on a bicycle.",
        "Three people crossing the street in the city... one of them is skateboarding.",
    ], "A man on a skate board and a woman on a bike waiting at a light."),
    (87038, "COCO_test_000000087038.jpg", 640, 480, [
        "A person performing a trick on a skateboard ramp!",
        "A skateboarder is doing a kick-flip at the skate park.",
        "Skateboarder in mid-air over a half-pipe, 2 people watching.",
        "A young man skateboarding in a park -- he's airborne.",
        "a skater catches some air at the skate-park",
    ], "A skateboarder doing a trick in the air at a skatepark."),
    (174482, "COCO_test_000000174482.jpg", 640, 388, [
        "A bicycle replica with a clock as the front wheel.",
        "The bike has a clock as a tire.",
        "A black metal bicycle with a clock inside the front wheel.",
        "A bicycle figurine in which the front wheel is replaced with a clock\n",
        "A clock with the appearance of the wheel of a bicycle ",
    ], "A clock that is on the side of a bike."),
    (403385, "COCO_test_000000403385.jpg", 640, 511, [
        "A bathroom with a toilet, sink, and shower.",
        "A white toilet sitting next to a walk-in shower.",
        "A clean bathroom: white tiles, a toilet & a glass shower door.",
        "The bathroom's toilet is next to the tub (which has a curtain).",
        "A small bathroom with a toilet & shower stall.",
    ], "a bathroom with a toilet and a shower"),
    (6818, "COCO_test_000000006818.jpg", 640, 427, [
        "A bathroom sink with toiletries on the counter.",
        "A clean bathroom sink with a mirror above it.",
        "A sink and mirror in a hotel bathroom, 2 towels hanging.",
        "The bathroom has a white sink, a soap dish and a toothbrush.",
        "A white sink sitting under a bathroom mirror.",
    ], "A bathroom sink with a mirror and a towel rack ."),
    (480985, "COCO_test_000000480985.jpg", 500, 375, [
        "A baseball player swinging a bat at a ball.",
        "The batter is swinging at the pitch while the catcher & umpire watch.",
        "A batter hits the ball during a baseball game.",
        "Baseball players' uniforms are white and blue.",
        "A player at home plate swings his bat.",
    ], "A baseball player is swinging at a pitch."),
    (458054, "COCO_test_000000458054.jpg", 500, 333, [
        "A giraffe standing next to a tall tree.",
        "A tall giraffe eating leaves off of a tree.",
        "A giraffe reaching up to eat from the top of a tree.",
        "One giraffe is feeding on an acacia tree in the wild.",
        "a giraffe that is standing by some trees",
    ], "Giraffes eat the leafs from trees."),
    (331352, "COCO_test_000000331352.jpg", 500, 375, [
        "A passenger train pulling into a train station.",
        "A train is stopped at the station, people waiting on the platform.",
        "The 5:45 train arrives at the platform.",
        "A red & white train on the tracks near a station.",
        "Train #42 at the station -- doors open.",
    ], "A train that is sitting at a station."),
    (296649, "COCO_test_000000296649.jpg", 640, 427, [
        "A pizza with pepperoni and cheese on a wooden table.",
        "A large pizza sitting on top of a table.",
        "A pepperoni pizza cut into 8 slices.",
        "A pizza that's been cut into eight slices, on a pan.",
        "A freshly baked pizza is ready to be eaten.",
    ], "a pizza pizza pizza on a plate"),
    (386912, "COCO_test_000000386912.jpg", 640, 480, [
        "A cat laying on top of a laptop computer.",
        "A grey cat is sleeping on a laptop's keyboard.",
        "The cat's lying across the keyboard of an open laptop.",
        "A cat that is laying on a lap top.",
        "A lazy cat sprawled over a laptop, preventing its owner from working.",
    ], "A cat is sleeping on the keyboard of a laptop."),
    (502136, "COCO_test_000000502136.jpg", 640, 425, [
        "A herd of elephants walking across a dry grass field.",
        "Three elephants walk along a dirt path in the savanna.",
        "An elephant family: 2 adults and a baby, walking together.",
        "Some elephants are walking in the wild.",
        "Elephants -- big and small -- crossing a field.",
    ], "Elephant walking through field."),
    (491497, "COCO_test_000000491497.jpg", 640, 480, [
        "A tennis player swinging a racket at a ball.",
        "A woman in a white outfit plays tennis.",
        "A female tennis player hits a forehand.",
        "The tennis player's about to hit the ball.",
        "A woman is swinging her racquet on a tennis court.",
    ], "A woman plays tennis on a court."),
    (184791, "COCO_test_000000184791.jpg", 640, 427, [
        "A dog catching a frisbee in its mouth.",
        "A brown dog jumping into the air to catch a frisbee.",
        "A dog leaps up to grab a Frisbee in the park.",
        "The dog's jumping high for the flying disc!",
        "a dog catches a frisbee in mid-air",
    ], "A dog jumps to catch a frisbee."),
    (179765, "COCO_test_000000179765.jpg", 640, 480, [
        "A black Honda motorcycle parked in front of a garage.",
        "A motorcycle parked on a driveway next to a house.",
        "A shiny black motorbike sits in a driveway.",
        "The motorcycle's parked -- nobody's on it.",
        "A Honda CBR 600RR parked near the garage door.",
    ], "A black motorcycle is parked in a driveway."),
    (190756, "COCO_test_000000190756.jpg", 640, 427, [
        "A man is standing in a kitchen with a refrigerator.",
        "a man looking in an open fridge",
        "A man grabbing something out of the refrigerator.",
        "The guy's looking for a snack in the fridge.",
        "A MAN STANDING IN FRONT OF AN OPEN REFRIGERATOR.",
    ], "a man stands in front of an open refrigerator"),
    (15335, "COCO_test_000000015335.jpg", 640, 480, [
        "A group of people sitting at a table eating food.",
        "Friends are having dinner at a restaurant.",
        "Six people sit around a table with plates of food & drinks.",
        "People eat a meal together at a long table.",
        "A family dinner -- everyone's smiling.",
    ], "A group of people are eating at a table in a restaurant."),
    (289393, "COCO_test_000000289393.jpg", 640, 427, [
        "An airplane flying over a city with tall buildings.",
        "A jet is flying through a blue sky.",
        "A large passenger plane flies overhead.",
        "The airplane's landing gear is down as it approaches.",
        "A 747 jumbo jet in the sky.",
    ], "a plane flying in the sky"),
    (219578, "COCO_test_000000219578.jpg", 640, 426, [
        "A person holding an umbrella in the rain.",
        "A woman walks down the street with an umbrella.",
        "Someone is walking in the rain with a black umbrella.",
        "A pedestrian carries an umbrella on a rainy day.",
        "A lady with an umbrella, walking on a wet sidewalk.",
    ], "A women walking with umbrellas on a rainy street."),
    (555705, "COCO_test_000000555705.jpg", 640, 480, [
        "Two cats lying on a pink blanket next to remotes.",
        "Two cats laying next to each other on a couch.",
        "2 cats sleeping on a pink couch with remote controls.",
        "Some cats are napping, and there's a TV remote beside them.",
        "A pair of cats sleeping on a sofa.",
    ], "Two cats are sleeping on a couch with a remote control."),
    (110211, "COCO_test_000000110211.jpg", 640, 480, [
        "A bowl of soup with a spoon on a table.",
        "A white bowl filled with soup and vegetables.",
        "Soup in a bowl -- carrots, celery, and noodles.",
        "A hot bowl of chicken noodle soup.",
        "A meal of soup and bread sits on the table.",
    ], "the bowl is full of hot soup with carrots"),
    (226111, "COCO_test_000000226111.jpg", 640, 427, [
        "A large clock tower in the middle of a town.",
        "A tall clock tower with a blue sky behind it.",
        "A clock tower that reads 3:15.",
        "The tower's clock shows a quarter past three.",
        "An old stone tower with a clock on it.",
    ], "A clock tower."),
    (465822, "COCO_test_000000465822.jpg", 480, 640, [
        "A surfer riding a wave in the ocean.",
        "A man on a surfboard rides a big wave.",
        "A person is surfing a large wave.",
        "A surfer in a black wet-suit catches a wave.",
        "Someone surfing on a 10-foot wave!",
    ], "A surfer is riding a large wave."),
    (580294, "COCO_test_000000580294.jpg", 640, 480, [
        "A person skiing down a snow covered slope.",
        "A skier going down the mountain.",
        "A man on skis skiing downhill in the snow.",
        "The skier's wearing a red jacket & goggles.",
        "A cross-country skier on a trail.",
    ], "A person on skis going down a snowy hill."),
    (130599, "COCO_test_000000130599.jpg", 640, 427, [
        "A man holding a hot dog in his hand.",
        "A guy eating a hotdog with mustard and ketchup.",
        "A man about to take a bite of a hot dog.",
        "Someone's lunch: a hot-dog with onions.",
        "A man is eating a chili dog outside.",
    ], "A man eating a hot dog."),
    (344059, "COCO_test_000000344059.jpg", 640, 428, [
        "A red fire hydrant on the side of a road.",
        "A fire hydrant sitting in the middle of a sidewalk.",
        "A red and white fire hydrant on a city street.",
        "A fire-hydrant is next to a parking meter.",
        "An old hydrant, painted red, near the curb.",
    ], "A blue mailbox next to a tree."),
    (500663, "COCO_test_000000500663.jpg", 640, 480, [
        "A stop sign on the corner of a street.",
        "A red stop sign with graffiti on it.",
        "A stop sign in front of some trees.",
        "The STOP sign's been vandalized.",
        "A stop sign at an intersection, with a street sign above it.",
    ], "A stop sign that says \"stop\" on it."),
    (51738, "COCO_test_000000051738.jpg", 640, 480, [
        "A bunch of bananas on a table.",
        "A bunch of ripe yellow bananas.",
        "Bananas and apples sit on a counter.",
        "There are 6 bananas in a bunch.",
        "Several bananas, some with brown spots.",
    ], "Yellow banana's on a table ."),
    (14439, "COCO_test_000000014439.jpg", 640, 427, [
        "A zebra standing in a grassy field.",
        "Two zebras grazing in a field.",
        "A pair of zebras eating grass.",
        "The zebras' stripes are black-and-white.",
        "Zebras standing together on the savannah.",
    ], "Two zebras are grazing on some grass in a field."),
    (261061, "COCO_test_000000261061.jpg", 640, 427, [
        "A young girl is flying a kite on the beach.",
        "A kite flying high above a sandy beach.",
        "A child holding a kite string at the shore.",
        "Kids fly kites at the beach on a windy day.",
        "A girl in a t-shirt flies a red kite.",
    ], "A small girl flies a kite at the beach while her father watches from the sand, and there are many other people on the beach, some swimming in the ocean and some lying on towels in the sun."),
    (122688, "COCO_test_000000122688.jpg", 640, 480, [
        "A teddy bear sitting on a bed.",
        "A brown teddy bear on a white pillow.",
        "A stuffed bear is laying on the bed.",
        "A child's teddy-bear on the bedspread.",
        "A cute stuffed animal sits among pillows.",
    ], "A teddy bear."),
    (353830, "COCO_test_000000353830.jpg", 640, 480, [
        "A laptop computer sitting on top of a desk.",
        "A desk with a laptop, a mouse and a cup of coffee.",
        "An office desk with a computer / monitor and keyboard.",
        "A work station: laptop, phone, papers.",
        "A messy desk with a laptop on it.",
    ], "a laptop and a mouse on a desk with a cup of coffee"),
    (239347, "COCO_test_000000239347.jpg", 640, 425, [
        "A boat docked in a harbor.",
        "Several boats are floating in the water.",
        "Small boats tied up at a marina.",
        "A sailboat on a calm lake.",
        "Boats in the water at sunset.",
    ], "Boats boats boats boats."),
    (78823, "COCO_test_000000078823.jpg", 640, 427, [
        "A horse pulling a carriage down a street.",
        "A horse-drawn carriage with two passengers.",
        "A man driving a horse and buggy.",
        "A brown horse pulls a cart in the city.",
        "Tourists take a carriage ride through town.",
    ], "A horse is pulling a carriage."),
    (325114, "COCO_test_000000325114.jpg", 640, 480, [
        "A sheep standing in a field of green grass.",
        "A flock of sheep grazing on a hillside.",
        "Some sheep are eating grass in a pasture.",
        "A lamb next to its mother in the field.",
        "White sheep on a farm.",
    ], "There are sheeps grazing in the pasture ."),
    (407614, "COCO_test_000000407614.jpg", 640, 427, [
        "A bus driving down a city street.",
        "A red double-decker bus on the road.",
        "A city bus stopped at a bus stop.",
        "The #12 bus is pulling up to the curb.",
        "A public transit bus with an ad on its side.",
    ], "a double decker bus driving down a street"),
    (295231, "COCO_test_000000295231.jpg", 640, 426, [
        "A bird perched on a tree branch.",
        "A small bird sitting on a branch.",
        "A blue bird on a limb.",
        "A little bird is resting on a twig.",
        "A sparrow perched in a tree.",
    ], "A bird sits on the branch of a tree."),
    (68078, "COCO_test_000000068078.jpg", 640, 480, [
        "A person cutting vegetables on a cutting board.",
        "Someone is chopping carrots & celery.",
        "Hands slicing a tomato with a knife.",
        "A chef's knife and diced onions on a board.",
        "Vegetables being prepared for a salad.",
    ], "A person is slicing vegetables."),
    (153299, "COCO_test_000000153299.jpg", 640, 480, [
        "A living room with a couch and a television.",
        "A living room with a sofa, a coffee table & a TV.",
        "A cozy living room with a fireplace.",
        "The family room has a big TV on the wall.",
        "A couch facing a flat-screen television.",
    ], "A living room filled with furniture and a TV."),
    (7278, "COCO_test_000000007278.jpg", 640, 427, [
        "A man flying through the air while riding a snowboard.",
        "A snowboarder jumping off a ramp.",
        "A person on a snowboard doing a trick in the air.",
        "A snowboarder does a 360 over a jump.",
        "The snowboarder's airborne!",
    ], "A snowboarder is doing a jump on the snow."),
    (311295, "COCO_test_000000311295.jpg", 640, 427, [
        "A woman sitting on a bench in a park.",
        "A lady rests on a wooden bench.",
        "A person sits alone on a park bench reading a book.",
        "An older woman sits on a bench, feeding pigeons.",
        "Someone's sitting on the bench under a tree.",
    ], "Woman sitting on a bench."),
    (520910, "COCO_test_000000520910.jpg", 640, 427, [
        "A vase filled with flowers on a table.",
        "Some flowers in a glass vase.",
        "A bouquet of red roses in a vase.",
        "Fresh flowers sit in a vase by the window.",
        "A vase of tulips and daisies.",
    ], "a vase with flowers in it"),
    (104666, "COCO_test_000000104666.jpg", 640, 480, [
        "A cup of coffee and a donut on a plate.",
        "A coffee mug next to a doughnut.",
        "Breakfast: coffee & a chocolate donut.",
        "A latte with foam art beside a pastry.",
        "A café table with coffee and a croissant.",
    ], "Coffee and a donut at a café."),
    (442822, "COCO_test_000000442822.jpg", 640, 480, [
        "Two men playing frisbee in a park.",
        "A couple of guys throwing a frisbee.",
        "A man throws a frisbee to his friend.",
        "Two people playing ultimate frisbee on a field.",
        "Friends tossing a disc on the grass.",
    ], "Two men are playing with a frisbee on the grass."),
    (572517, "COCO_test_000000572517.jpg", 640, 427, [
        "A cow standing in a grassy field.",
        "A black and white cow grazing.",
        "Cows eating grass on a farm.",
        "A brown cow looks at the camera.",
        "A herd of cattle in a pasture.",
    ], "A cow is eating grass."),
    (217425, "COCO_test_000000217425.jpg", 640, 480, [
        "A man on a laptop sitting at a table in a cafe.",
        "A man working on his laptop at a coffee shop.",
        "A guy typing on a computer, a cup of coffee beside him.",
        "Someone is using a laptop in a café.",
        "A man uses his laptop while drinking coffee.",
    ], "A man uses a laptop at a coffee shop."),
    (139099, "COCO_test_000000139099.jpg", 640, 427, [
        "A plate of food with broccoli and rice.",
        "A dinner plate with chicken, broccoli, and rice.",
        "Broccoli, rice & meat on a white plate.",
        "A healthy meal of vegetables and grains.",
        "A plate topped with meat and vegetables.",
    ], "A plate with meat, broccoli and rice on it."),
    (475779, "COCO_test_000000475779.jpg", 640, 480, [
        "A man holding a Nintendo Wii game controller.",
        "A young man playing a video game.",
        "A guy is playing the Wii in his living room.",
        "A person holds a Wii remote & nunchuk.",
        "A man plays a game on the TV.",
    ], "Person playing video games."),
    (281759, "COCO_test_000000281759.jpg", 640, 427, [
        "A little girl brushing her teeth.",
        "A child with a toothbrush in her mouth.",
        "A young girl brushes her teeth at the sink.",
        "A kid's brushing his teeth.",
        "A small child holding a pink toothbrush.",
    ], "A girl is brushing her teeth with a toothbrush."),
    (362368, "COCO_test_000000362368.jpg", 640, 480, [
        "A street sign at the corner of 5th Ave. and Main St.",
        "Street signs on a pole at an intersection.",
        "A green street sign that says \"Broadway\".",
        "Two street signs pointing in different directions.",
        "Signs for 42nd St. & 7th Ave.",
    ], "A street sign for Broadway & 7th Ave."),
    (9448, "COCO_test_000000009448.jpg", 640, 424, [
        "A stuffed animal sitting in a chair.",
        "Some odd-looking object on a wooden chair.",
        "A chair with a weird thing on it.",
        "Something sitting on a chair in a room.",
        "A chair in a room with a toy on it.",
    ], "An elephant and a giraffe are playing tennis on the moon."),
    (483108, "COCO_test_000000483108.jpg", 640, 427, [
        "A woman taking a picture with her camera.",
        "A photographer takes a photo of the city.",
        "A lady with a camera around her neck.",
        "A tourist snaps a picture on vacation.",
        "A woman is photographing something.",
    ], "A woman is taking a photograph."),
    (60623, "COCO_test_000000060623.jpg", 640, 427, [
        "An elderly man sitting at a desk with papers.",
        "An old man writing at his desk.",
        "A man with white hair reading documents.",
        "An elderly gentleman works at a desk.",
        "An older man at a desk covered in papers.",
    ], "A old man is writing papers at a desk."),
    (300659, "COCO_test_000000300659.jpg", 640, 426, [
        "A bunch of kites flying in the sky.",
        "Many kites are being flown on a windy day.",
        "Colorful kites in the air above a field.",
        "Dozens of kites high in the blue sky.",
        "A sky full of kites!",
    ], "kites"),
    (540502, "COCO_test_000000540502.jpg", 640, 480, [
        "A sandwich and chips on a plate.",
        "A sandwich cut in half with potato chips.",
        "A turkey sandwich on a white plate.",
        "Lunch: a sandwich, chips & a pickle.",
        "A deli sandwich with lettuce and tomato.",
    ], "A sandwich on a plate with chips and a pickle."),
    (458755, "COCO_test_000000458755.jpg", 640, 480, [
        "A fruit stand selling apples for $3.50 a pound.",
        "Produce at a farmers' market; prices range from $1 to $5.",
        "A vendor's stall with 1,000 oranges?!",
        "Is that a market?  Yes -- a busy one, with fruit (apples, pears) & veggies.",
        "An outdoor market @ the town square.",
    ], "A fruit stand at a market selling apples and oranges for $2 (each)."),
    (2153, "COCO_test_000000002153.jpg", 640, 427, [
        "Players' jerseys are red; the ball's in the air.",
        "Two teams playing soccer (football) on a field.",
        "A soccer player kicks the ball... it's a goal!",
        "Don't miss the 3.5-second replay: a header into the net.",
        "Ten players chase the ball across the pitch.",
    ], "Soccer players are running after the ball on a field, aren't they?"),
    (574769, "COCO_test_000000574769.jpg", 480, 640, [
        "A man talking on his cell phone, it's at 10% battery.",
        "a guy on a phone call , standing by a wall",
        "A man with a phone to his ear; he doesn't look happy.",
        "Someone's texting @ the bus stop.",
        "A naïve tourist asks for directions on his phone.",
    ], "A man is talking on a cell-phone ."),
    (329219, "COCO_test_000000329219.jpg", 640, 480, [
        "A birthday cake with candles \U0001F382 on a table.",
        "A cake with \"Happy Birthday\" written on it.",
        "A chocolate cake with 3 candles lit.",
        "Kids gather 'round a birthday cake!",
        "Is it someone's birthday? There's cake.",
    ], "A birthday cake with lit candles on the table!!!"),
    (397327, "COCO_test_000000397327.jpg", 640, 427, [
        "A parking meter on a city sidewalk.   ",
        "  A row of parking meters along the street.",
        "Parking  meters\tnear some cars.",
        "A coin-operated meter: 25\u00a2 for 15 min.",
        "An old parking meter, EXPIRED.",
    ], "parking meters on the side of the street/road"),
]


# Single captions for the tokenizer goldens (ptb-probes.json): hand-written, each aimed at one of
# the Stanford PTBTokenizer's rules as pycocoevalcap runs it, plus a few templated families.
PROBES: list[str] = [
    # contractions and possessives
    "It's a dog; it's not a cat.",
    "Don't touch the cake, don't!",
    "The man can't and won't eat; he cannot.",
    "isn't aren't wasn't weren't hasn't haven't hadn't doesn't didn't",
    "shouldn't wouldn't couldn't mustn't needn't ain't shan't",
    "I'm sure you're right, we've seen he'd go, they'll come, she's here.",
    "I'd say who's there? what's that? that's it, there's more, here's one, let's go",
    "IT'S DON'T CAN'T WON'T CANNOT GONNA WANNA",
    "The man's hat and the players' jerseys, James' car and the boss's desk.",
    "The dogs' bowls and the kids's toys",
    "A children's book on the women's team's bench",
    "it’s don’t can’t the man’s hat the players’ balls",
    "He’d’ve known, they’re here, we’ll see, I’M OK",
    "don`t it`s",
    "gonna wanna gotta lemme gimme cannot",
    "'Tis the season, 'twas the night",
    "y'all y'know o'clock O'Neil d'Artagnan ma'am l'amour",
    "rock'n'roll and fish'n'chips, rock 'n' roll",
    "the '90s and the 1990's, back in '06",
    "'em 'cause 'til 'round 'bout",
    "ol' li'l c'mon e'er s'mores nor'easter cont'd",
    "Dunkin' somethin' nothin' goin'",
    "don't-care it's-not kids'-toys",
    "the dog''s bone",
    "it‘s the man‘s",
    "A women's and men's restroom sign.",
    "the 49ers' stadium and the Beatles' album",
    "McDonald's and Wendy's are fast-food restaurants.",
    # quotes
    "A sign that says \"STOP\" on a pole.",
    "A \"Happy Birthday\" cake with \"30\" on it.",
    "The words 'no parking' painted on the road.",
    "A ‘vintage’ car and a “classic” bus.",
    "«Bienvenue» sign at a ‹café›",
    "He said, \"it's 'fine'.\"",
    "``quoted'' text and `single' quotes",
    "„German“ quotes and ‚low‘ ones",
    "‘’ ’‘ “” ”“ '' `` \'\'\' ```",
    "\"\" empty quotes and '' two apostrophes",
    # brackets
    "A cat (orange) on a mat.",
    "A dog [brown] near a tree {small}.",
    "(A man) [with a hat] {and a cane}",
    "A pizza (with 8 slices (cut)).",
    "((double)) [[square]] {{curly}}",
    "A person ( standing ) in the rain",
    "( ) [ ] { }",
    # punctuation runs
    "Wow!!! A huge cake!",
    "What?! A cat on a skateboard?",
    "Really?? A horse on the beach?!?",
    "A dog... waiting. And waiting....",
    "So.....",
    "A man . . . walking",
    "An ellipsis… and another…",
    "A girl.. with a kite",
    "A, B, C; D: E.",
    "A man -- with a hat -- walks.",
    "A man---with a hat---walks.",
    "A man - walks - slowly",
    "A path—long and winding—through the woods",
    "Pages 10–15 and 1990—2000",
    "A long dash ----- line and a longer ---------- one",
    "Hyphen-minus - en – em — bar ―",
    "a;b a:b a,b a.b a!b a?b",
    "end.",
    "¿Qué? ¡Hola!",
    # numbers
    "Two dogs and 2 cats.",
    "3.5 inches and 1,000 people and 10% off.",
    "A price of $5, $3.50, $1,000.00 and US$20.",
    "5$ and €5 and £5 and ¥500 and 25¢",
    "1,000,000 stars and .5 cups and 0.5 liters",
    "A sign reading 5. and 5.0. and -5 and +5 and -3.5",
    "A 1/2 cup and 3/4 inch and 1 1/2 cups and 2 3/4 miles",
    "½ cup ¼ teaspoon ¾ full ⅓ left ⅔ done 1½ hours",
    "At 2:30, 12:45:00, 2:30pm, 2:30 p.m., 5pm and 10am.",
    "Open 9-5, from 1990-2000, in the 2010s.",
    "The 1st, 2nd, 3rd, 4th and 21st floors.",
    "#1 and #42 and No. 5 and no.5",
    "A 5ft fence, 6'2\" tall, a 5'11 man",
    "A 10x10 grid, 3x zoom, 2x4 boards, a 4x4 truck",
    "1080p video, 100km/h, 50mph, 3.5mm jack, 5kg bag",
    "Scores 10-15 and 10–15, the 1950s and 50's",
    "Open 24/7 since 9/11, 3/4ths done, 2/3rds full",
    "100,000 people; 3,5 and 1,2,3 and 1.2.3",
    "IP 192.168.1.1 and v2.0 and version 2.0.1",
    "It's 5°C, 90°, 72°F and 3×4",
    "One hundred and 5, twenty-five, Twenty-Five",
    "12/25/2020 and 1-2-2020 and 2020-01-02",
    "Call (555) 123-4567 or 555-1234 or 1-800-555-1234.",
    "Call 555 123 4567 now",
    "A 2-year-old and a two-year-old, a 20-something",
    "A 3D movie on a 4K TV, 8-bit game",
    "50-50 chance, 9-to-5 job, mid-1990s style",
    "$5M and $1.5M deals, 5M views",
    "2.5x zoom, 1.5 liters, 0.25%",
    "1/2/3/4/5 and 1/23456 and 12345/6",
    "A '57 Chevy and a 'Vette",
    "The 5.c file and file 2.txt and photo.jpg",
    # hyphens and slashes
    "A black-and-white photo of a t-shirt.",
    "A T-Shirt, an X-ray and an e-mail.",
    "A well-known co-op re-opened.",
    "A state-of-the-art, one-of-a-kind toy",
    "a--b a---b a-b-c -a b- - -- ---",
    "and/or a/b street/road cats/dogs",
    "A 100km/h sign and a b/w photo",
    "a/b/c/d/e and a-b/c and a/b-c",
    "A man/woman/child",
    "x-/y and /a and a/ and a//b",
    "A double-decker bus and a hot-dog stand",
    "self-driving cars, hand-made rugs",
    "A half-eaten, half eaten sandwich",
    "i.e.well-known and vs.T-shirt and Jan.e-mail",
    "The A-U.S. team",
    # abbreviations and periods
    "Mr. Smith and Mrs. Jones met Dr. Who.",
    "St. Louis and Mt. Everest, 5th Ave. and Main St.",
    "Apples, pears, etc. are on the table.",
    "A U.S. flag and a U.S.A. sign and the U.K. map",
    "Cats vs. dogs, e.g. a cat, i.e. a pet",
    "Acme Inc. and Acme Co. and Acme Corp. and Acme Ltd.",
    "Jan. Feb. Mar. Apr. Aug. Sept. Oct. Nov. Dec.",
    "A meeting at 5 a.m. and 6 p.m. and 7 A.M.",
    "approx. 5 min. max. 10 ft. or 3 lb. and 4 oz.",
    "No. 5, no. 6, Fig. 3, pp. 4, ca. 1900, art. 3",
    "No. The answer is no.",
    "J.R.R. Tolkien and J. K. Rowling and A. B. C.",
    "Ph.D. students and an M.D. and a B.A.",
    "Mr.Smith and St.Louis and mr.smith",
    "A sign for Calif. and Mass. and mass. and Miss. and miss.",
    "The Sr. and Jr. and Bros. and Esq.",
    "Inc.o'clock and Jan.oz and vs.It",
    "a. b. c. I. x. Y.",
    "Vitamin C. A man eats an orange.",
    "Plan B. The man smiles.",
    "A sign: no. 5",
    "Gov. and Gen. and Sen. and Rep. and Lt. and Col. and Capt. and Sgt.",
    "Prof. and Rev. and Hon. and Pres. and Dept. and Univ.",
    "Blvd. and Rd. and Ct. and Bldg. and Ste.",
    "www.google.com and example.com and google.co.uk",
    "a.b. ab.cd ab.cd. abc.de.fg a1.b2",
    "dog., cat.; bird.: fish.",
    "5., a-b., AT&T., x.com.,",
    "a.b.c. f.b.i. F.B.I. USA.",
    # ampersands, symbols, entities
    "Salt & pepper, A&W root beer, AT&T phone, R&D lab, b&w film.",
    "a&b A&T AT & T && &&&",
    "&amp; &lt; &gt; &quot; &apos; &#39; &nbsp; &eacute; caf&eacute;",
    "&mdash; &ndash; &HT; &copy; &hellip;",
    "A+ grade, C++ code, C# and F# languages, A+M",
    "~ ^ + = % * ** *** \\ | _ __ ___",
    "@ @me @user_1 #tag # ## ### #1tag",
    "Email me@example.com or a.b@c.d.org today!",
    "Visit http://www.example.com/a?b=c or https://x.org.",
    "See www.example.com/path and example.com/a/b",
    "ftp://a.b and mailto:a@b.c and x.com:80",
    "100% sure, 5 % chance, 50%-off sale",
    "A © sign, ® mark, ™ logo, § section, ¶ para",
    "• bullet ★ star ♥ heart → arrow ✓ check",
    "± 5, ∞ loop, µ micro, ß, ø, æ, Ω",
    "x² and H₂O and 10³",
    "<b>bold</b> and <tag attr=\"x\"> and <br/>",
    "a <b> c and a < b > c and <3 and -> and <-",
    "<< >> <<< <> <= >=",
    # emoticons
    "A happy face :) and a sad face :(",
    "Smiling :-) winking ;) laughing :D tongue :P",
    ":-( :] :[ :| :o :O =) :'( >:( :)) ;p",
    "^_^ ^^ -_- o_O T_T >_< (^_^) x_x",
    "XD xD <3 </3 8) B)",
    # capitals and spaces
    "A MAN RIDING A HORSE ON THE BEACH",
    "a Man Riding A Horse On The Beach",
    "  Leading spaces and trailing spaces   ",
    "Many    spaces     between    words",
    "Tabs\tbetween\twords",
    "A caption with a\nnewline inside",
    "No-break\u00a0space and thin\u2009space and ideographic\u3000space",
    "Zero\u200bwidth and soft\u00adhyphen and BOM\ufeffinside",
    # non-ASCII
    "A café with naïve art and a résumé on the table.",
    "Crème brûlée, jalapeño, piñata, façade, Zoë, São Paulo",
    "An über-cool Straße in Köln",
    "A sign in 中文 and 日本語 and 한국어",
    "Москва and Αθήνα and عربي and עברית",
    "Fullwidth ＡＢＣ１２３！？ text",
    "A dog 🐶 and a cat 🐱 playing",
    "Thumbs up 👍 and a flag 🇺🇸",
    "A heart ♥️ with a variation selector",
    "e\u0301 decomposed cafe\u0301",
    "Roman numerals Ⅻ and Ⅳ",
    "A ‐ hyphen and a‐b and a‑b",
    "Ligature ﬁ and ﬂ",
    "A £5 note, a €10 bill, ¢ cents, ¤ sign",
    "Indian ₹5 and Korean ₩100",
    # mixtures in COCO style
    "A man riding a wave on top of a surfboard.",
    "a woman is holding an umbrella in the rain ",
    "Two giraffes standing next to each other in a field",
    "A plate of food with broccoli, rice & chicken.",
    "A kitchen with a stove, a sink (and a fridge).",
    "There's a cat that's sitting on the dog's bed.",
    "A group of people's bicycles are parked outside the café.",
    "The bus (#12) is at the stop -- it's late!",
    "An old, rusty 1950's truck parked in a field...",
    "A sign that reads: \"Don't feed the animals!\"",
    "A laptop, a phone & a cup of coffee on a desk.",
    "A young girl, 5, holding a kite on the beach",
    "A man in a t-shirt & jeans throwing a frisbee.",
    "A 747 jumbo-jet taking off from the airport's runway.",
    "3 dogs, 2 cats and 1 bird in a house",
    "A red double-decker bus on a London street (U.K.).",
    "A baseball player's bat hitting the ball; the catcher's mitt is open.",
    "A street sign at 5th Ave. & 42nd St. in N.Y.C.",
    "People at a farmers' market buying $2 apples.",
    "A black & white photo of an old man's face.",
    "a close up of a plate of food with a fork",
    "A man on a skateboard does a trick -- an ollie!",
    "A woman's purse (Louis Vuitton) on a café table.",
    "TWO ZEBRAS GRAZING; ONE IS LOOKING UP.",
    "A   cat   on   a   couch.",
    "A dog with a frisbee in its mouth ... so cute",
    "A kid's birthday party: cake, balloons & presents!",
    "An elephant, a giraffe, and a zebra at the zoo?",
    "A man is cutting a 10\" pizza into 8 pieces.",
    "A sign that says 'Wet Paint' -- beware.",
    "A train at platform 9 3/4",
    "a bowl of fruit (apples/oranges/bananas)",
    "A 2 1/2 year old boy eating a hot-dog",
    "A hotel room w/ two beds & a TV",
    "A snowboarder mid-air; it's a 360!",
    "A cat sleeping on a laptop's keyboard (again).",
    "The Mets vs. the Yankees at Shea Stadium",
    "A Dr. Pepper can and a 7-Up bottle",
    "A NY Times newspaper and a cup o' coffee",
    "Rock 'n' roll band on stage",
    "The New York Yankees' #2 jersey",
    "An 'OPEN' sign in a shop's window.",
    "A 5-star hotel's lobby",
    "A man @ the beach w/ his dog",
    "A 1/4 lb burger & fries for $4.99",
    "A ~10 year old girl",
    "A boy, age 10, in a red shirt.",
    "A cup of tea... or coffee?",
    # odd corners found by fuzzing
    "A Det. Insp. and an Asst. Treas. at the Rt. side",
    "gonna'dog and it'sa",
    "😀www.google.com and 😀 www.google.com",
    "(>^) and (^-^) and (--)",
    "a.b.c. and N.Y.C. and ü.s. and u.s.7",
    "e.g. Mr. Smith and e.g. Ms. Jones",
    "a sandwich/mirror-sitting-tied-is here",
    "2.x and 2.c files and 2.xy",
    "&lt;me@x.com&gt; and <me@x.com>",
    "The end",
]
# Templated families: abbreviations before a number and before a word, the same elsewhere in a
# sentence, apostrophes after single letters, initials before sentence-starting words.
PROBES += [f"A sign for {a}. 5 and {a}. the end" for a in ("No", "Fig", "pp", "ca", "art", "approx", "vol")]
PROBES += [f"{w} {a}. {w2}" for a, w, w2 in (
    ("Mr", "Meet", "Smith"), ("etc", "Cats", "and more"), ("Inc", "Acme", "makes"), ("Jan", "In", "2020"),
    ("St", "On", "Patrick's"), ("Ave", "Fifth", "South"), ("Ltd", "Co", "The"), ("vs", "Us", "Them"),
)]
PROBES += [f"{c}'{rest}" for c in "adjlnoyADJLNOY" for rest in ("abc", "a")]
PROBES += [f"an initial {c}. {w} follows" for c, w in (("m", "The"), ("m", "A"), ("x", "Y"), ("b", "An"))]
# Neighbours: the tokenizer looks past a caption's end into the next caption of the batch.
PROBES += [
    "A bottle of vitamin C.",
    "A man eating an orange.",
    "A sign that says no.",
    "5 dogs in the park.",
    "Rooms and suites, etc.",
    "The hotel lobby.",
    "A sign with a smiley :)",
    "A cat.",
]


def build_annotations() -> dict:
    images = []
    annotations = []
    ann_id = 100000
    for image_id, file_name, width, height, refs, _candidate in SCENES:
        images.append({"id": image_id, "file_name": file_name, "width": width, "height": height})
        for ref in refs:
            ann_id += 7
            annotations.append({"id": ann_id, "image_id": image_id, "caption": ref})
    return {
        "info": {
            "description": "emb COCO-format caption test set (hand-written, in the style of COCO captions)",
            "version": "1.0",
            "year": 2026,
        },
        "images": images,
        "annotations": annotations,
    }


def build_results() -> list[dict]:
    # Results in a different order from the images: pycocoevalcap follows the annotation file's.
    rows = [{"image_id": image_id, "caption": candidate} for image_id, _f, _w, _h, _r, candidate in SCENES]
    return rows[1::2] + rows[0::2]


def bleu_compute(gts: dict, res: dict) -> tuple[list[float], list[list[float]], dict]:
    """Bleu(4).compute_score, with the scorer kept so its lengths can be stored too."""
    scorer = BleuScorer(n=4)
    for image_id in gts.keys():
        scorer += (res[image_id][0], gts[image_id])
    score, scores = scorer.compute_score(option="closest", verbose=0)
    return score, scores, {"testlen": scorer._testlen, "reflen": scorer._reflen}


def evaluate(captions_path: Path, results_path: Path) -> dict:
    coco = COCO(str(captions_path))
    coco_res = coco.loadRes(str(results_path))
    image_ids = coco.getImgIds()
    gts = {i: coco.imgToAnns[i] for i in image_ids}
    res = {i: coco_res.imgToAnns[i] for i in image_ids}
    tokenizer = PTBTokenizer()
    gts = tokenizer.tokenize(gts)
    res = tokenizer.tokenize(res)
    assert list(gts.keys()) == image_ids and list(res.keys()) == image_ids

    corpus: dict[str, float] = {}
    per_image: dict = {}
    bleu, bleu_scores, bleu_lengths = bleu_compute(gts, res)
    for k in range(4):
        corpus[f"Bleu_{k + 1}"] = float(bleu[k])
    per_image["Bleu"] = [[float(x) for x in order] for order in bleu_scores]
    for scorer, name in ((Meteor(), "METEOR"), (Rouge(), "ROUGE_L"), (Cider(), "CIDEr")):
        score, scores = scorer.compute_score(gts, res)
        corpus[name] = float(score)
        per_image[name] = [float(x) for x in scores]

    return {
        "image_ids": image_ids,
        "gts": [gts[i] for i in image_ids],
        "res": [res[i] for i in image_ids],
        "corpus": corpus,
        "per_image": per_image,
        "bleu_lengths": bleu_lengths,
    }


def ptb_tokenize_all(captions: list[str]) -> list[str]:
    """pycocoevalcap's PTBTokenizer, each caption its own image id, all in one jar run."""
    # Java ends a line at these too: a caption holding one would shift every later one.
    for c in captions:
        assert not any(ch in c for ch in "\r\u000b\u000c\u2028\u2029"), repr(c)
    tokenized = PTBTokenizer().tokenize({i: [{"caption": c}] for i, c in enumerate(captions)})
    assert list(tokenized.keys()) == list(range(len(captions)))
    return [tokenized[i][0] for i in range(len(captions))]


def ptb_tokenize_alone(captions: list[str]) -> list[str]:
    """The same with a neutral caption ("|") after each one, so that none sees its neighbour."""
    interleaved = [x for c in captions for x in (c, "|")]
    return ptb_tokenize_all(interleaved)[0::2]


def main() -> None:
    captions = build_annotations()
    results = build_results()
    captions_path = COCO_DIR / "captions_test.json"
    results_path = COCO_DIR / "results_test.json"
    write_json(captions_path, captions)
    write_json(results_path, results)

    metrics = evaluate(captions_path, results_path)
    write_json(OUT_DIR / "metrics.json", {
        "description": (
            "pycocoevalcap COCOEvalCap.evaluate() on test/fixtures/coco/captions_test.json and "
            "results_test.json, SPICE left out. image_ids: pycocoevalcap's iteration order "
            "(coco.getImgIds()). gts/res: PTB-tokenised captions, aligned with image_ids. corpus: "
            "the scores evaluate() reports. per_image: one score per image aligned with image_ids; "
            "Bleu is BleuScorer's list of 4 lists (orders 1..4), option 'closest'. bleu_lengths: "
            "BleuScorer's total candidate and (closest) reference lengths."
        ),
        "pycocoevalcap": pycocoevalcap_version(),
        "punctuations": PUNCTUATIONS,
        **metrics,
    })

    tokens = ptb_tokenize_all(PROBES)
    alone = ptb_tokenize_alone(PROBES)
    write_json(OUT_DIR / "ptb-probes.json", {
        "description": (
            "pycocoevalcap PTBTokenizer (Stanford CoreNLP 3.4.1 edu.stanford.nlp.process.PTBTokenizer "
            "-preserveLines -lowerCase, then the PUNCTUATIONS removal) on single captions. tokens: all "
            "probes in one batch, in this order, as pycocoevalcap tokenizes a dict of captions (each line "
            "followed by the next probe, the last one ending the input); alone: each probe followed by a "
            "neutral caption '|' instead, so that no probe sees its neighbour."
        ),
        "probes": [{"caption": c, "tokens": t, "alone": a} for c, t, a in zip(PROBES, tokens, alone)],
    })


def pycocoevalcap_version() -> str:
    from importlib.metadata import version

    return version("pycocoevalcap")


if __name__ == "__main__":
    main()
